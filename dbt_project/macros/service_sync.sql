{#- The service sync's settings ([flows.service_sync], with the dealer's time_zone) the
    models read. -#}
{% macro service_sync_setting(key, default) -%}
    {{- return(var('service_sync', {}).get(key, default)) -}}
{%- endmacro %}

{#- The value a mapping setting ({name: code}) gives the column, else the default. -#}
{% macro code_by(column, mapping, default) -%}
    {%- set otherwise = quoted(default) if default is not none else 'null' -%}
    {%- if mapping -%}
    case {{ column }}
    {%- for name, code in mapping.items() %}
        when {{ quoted(name) }} then {{ quoted(code) }}
    {%- endfor %}
        else {{ otherwise }}
    end
    {%- else -%}
    {{ otherwise }}
    {%- endif -%}
{%- endmacro %}

{% macro quoted(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{#- A UTC instant as the dealer's wall-clock time (what e-automate shows and takes). -#}
{% macro dealer_time(column) -%}
    timezone({{ quoted(service_sync_setting('time_zone', 'UTC')) }}, {{ column }})
{%- endmacro %}

{#- The columns a service ticket and a project ticket share, as their staging models name
    them (record_type defaults to the kind the source holds). #}
{% macro ticket_columns(record_type) -%}
        cast(id as bigint) as ticket_id,
        cast(summary as varchar) as summary,
        coalesce(cast(record_type as varchar), '{{ record_type }}') as record_type,
        cast(company__id as bigint) as company_id,
        cast(company__identifier as varchar) as company_identifier,
        cast(board__name as varchar) as board,
        cast(status__name as varchar) as status,
        coalesce(cast(closed_flag as boolean), false) as is_closed,
        cast(actual_hours as decimal(10, 2)) as actual_hours,
        cast(site__id as bigint) as site_id,
        cast(agreement__id as bigint) as agreement_id,
        cast(type__name as varchar) as ticket_type,
        cast(owner__identifier as varchar) as owner_identifier,
        cast(contact_name as varchar) as contact_name,
        cast(po_number as varchar) as po_number,
        cast(external_x_ref as varchar) as external_x_ref,
        cast(closed_date as timestamptz) as closed_at,
        cast(info__date_entered as timestamptz) as entered_at,
        cast(info__last_updated as timestamptz) as last_updated_at,
{%- endmacro %}
