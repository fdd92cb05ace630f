{#- The owner [flows.customer_sync] field_owners names for fields.field: for the customer in
    ``number_column`` (its table of fields), or with ``number_column`` none for every
    customer (a field's name set to a string); null when it names none. -#}
{% macro configured_owner(owners, number_column) -%}
    {%- set whens = [] %}
    {%- for key, owner in owners.items() %}
    {%- if number_column is none and owner is string %}
    {%- do whens.append("when fields.field = " ~ quoted(key) ~ " then " ~ quoted(owner)) %}
    {%- elif number_column is not none and owner is mapping %}
    {%- for field, by in owner.items() %}
    {%- do whens.append("when " ~ number_column ~ " = " ~ quoted(key) ~ " and fields.field = "
        ~ quoted(field) ~ " then " ~ quoted(by)) %}
    {%- endfor %}
    {%- endif %}
    {%- endfor %}
    {%- if whens %}case {{ whens | join(' ') }} end{% else %}cast(null as varchar){% endif %}
{%- endmacro %}
