"""The ConnectWise Manage emulator: query-string filters compiled to DuckDB SQL."""
