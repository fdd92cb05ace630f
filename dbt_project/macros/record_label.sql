{#- How a finding names a record: `customer ACME01 "Acme Copiers"`, `PSA company 12 "Acme"`;
    the name is left out when unknown (a company that does not exist). `noun` is SQL. -#}
{% macro record_label(noun, number, name) -%}
    ({{ noun }} || ' ' || {{ number }} || coalesce(' "' || {{ name }} || '"', ''))
{%- endmacro %}
