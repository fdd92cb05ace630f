{#- Views and tables made in one statement: DuckDB's CREATE OR REPLACE swaps the relation
    inside the model's transaction, so readers see the old one or the new one and a model
    that fails leaves the old one. dbt's own materializations make each one under another
    name, rename the old one away, rename the new one in and drop the old one: four
    statements and their bookkeeping per model, a third of a build of this project's
    small models (bench/README.md, "dbt's materializations"). The project uses neither
    hooks, grants, contracts nor persisted docs, and these materializations refuse a model
    that asks for them rather than leave it out. -#}

{% macro crosswalk_replace(type, sql) %}
  {%- set asked = [] -%}
  {%- if config.get('contract').enforced %}{% do asked.append('an enforced contract') %}{% endif -%}
  {%- if config.get('grants') %}{% do asked.append('grants') %}{% endif -%}
  {%- if config.persist_relation_docs() or config.persist_column_docs() -%}
    {%- do asked.append('persisted docs') -%}
  {%- endif -%}
  {%- if pre_hooks or post_hooks %}{% do asked.append('hooks') %}{% endif -%}
  {%- if asked -%}
    {{ exceptions.raise_compiler_error(model.unique_id ~ " asks for " ~ asked | join(", ")
       ~ ", which crosswalk's " ~ type ~ " materialization (macros/materializations.sql)"
       ~ " does not do") }}
  {%- endif -%}
  {%- set existing = load_cached_relation(this) -%}
  {#- A view where a table was, or the other way: DuckDB replaces only its own kind. -#}
  {%- if existing is not none and existing.type != type -%}
    {{ drop_relation_if_exists(existing) }}
  {%- endif -%}
  {%- set target = this.incorporate(type=type) -%}
  {% call statement('main') -%}
    create or replace {{ type }} {{ target }} as (
      {{ sql }}
    );
  {%- endcall %}
  {{ adapter.commit() }}
  {{ return({'relations': [target]}) }}
{% endmacro %}

{% materialization view, adapter='duckdb' %}
  {{ return(crosswalk_replace('view', sql)) }}
{% endmaterialization %}

{% materialization table, adapter='duckdb' %}
  {{ return(crosswalk_replace('table', sql)) }}
{% endmaterialization %}
