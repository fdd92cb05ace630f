{% macro web_domain(column) -%}
    lower(regexp_replace(regexp_replace(trim(coalesce({{ column }}, '')),
        '^([a-z]+://)?(www\.)?', '', 'i'), '[/:?#].*$', ''))
{%- endmacro %}
