{#- Why a customer falls outside [flows.customer_sync] (customer types, branches,
    territories, contract types), or null; an empty list in the configuration takes every
    value. With contract_types set, a customer needs an active contract (Status Active,
    started, not expired; not a template) of one of those types, its own or billed to it;
    only then does the mapping read stg_eautomate__contracts. -#}
{% macro customer_sync_filter(customers) -%}
    {%- set filters = var('customer_sync', {}) -%}
    {%- set checks = [
        ('customer_types', 'customer_type_code', 'customer type'),
        ('branches', 'branch_number', 'branch'),
        ('territories', 'territory_code', 'territory'),
    ] -%}
    {%- set contract_types = filters.get('contract_types') or [] -%}
    case
    {%- for key, column, noun in checks %}
        {%- set allowed = filters.get(key) or [] %}
        {%- if allowed %}
        when coalesce({{ customers }}.{{ column }}, '') not in ({{ _sql_list(allowed) }})
            then '{{ noun }} ' || coalesce({{ customers }}.{{ column }}, '(none)')
                || ' is not in flows.customer_sync.{{ key }}'
        {%- endif %}
    {%- endfor %}
    {%- if contract_types %}
        when not exists (
            select 1
            from {{ ref('stg_eautomate__contracts') }} as contracts
            where {{ customers }}.customer_number
                    in (contracts.customer_number, contracts.bill_to_number)
                and contracts.is_active
                and not contracts.is_template
                and coalesce(contracts.start_date, current_date) <= current_date
                and coalesce(contracts.expiration_date, current_date) >= current_date
                and contracts.contract_type in ({{ _sql_list(contract_types) }})
        )
            then 'no active contract of type {{ contract_types | join(", ") | replace("'", "''") }}'
                || ' (flows.customer_sync.contract_types)'
    {%- endif %}
        when false then null
    end
{%- endmacro %}

{% macro _sql_list(values) -%}
    {%- for value in values %}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
{%- endmacro %}
