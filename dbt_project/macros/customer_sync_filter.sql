{#- Why a customer falls outside [flows.customer_sync] (customer types, branches,
    territories), or null; an empty list in the configuration takes every value. -#}
{% macro customer_sync_filter(customers) -%}
    {%- set filters = var('customer_sync', {}) -%}
    {%- set checks = [
        ('customer_types', 'customer_type_code', 'customer type'),
        ('branches', 'branch_number', 'branch'),
        ('territories', 'territory_code', 'territory'),
    ] -%}
    case
    {%- for key, column, noun in checks %}
        {%- set allowed = filters.get(key) or [] %}
        {%- if allowed %}
        when coalesce({{ customers }}.{{ column }}, '') not in (
            {%- for value in allowed %}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
        )
            then '{{ noun }} ' || coalesce({{ customers }}.{{ column }}, '(none)')
                || ' is not in flows.customer_sync.{{ key }}'
        {%- endif %}
    {%- endfor %}
        when false then null
    end
{%- endmacro %}
