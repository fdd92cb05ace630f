{#- The agreement sync's settings ([flows.agreement_sync]) the models read, and the months
    an agreement's billing cycle covers. -#}
{% macro agreement_sync_setting(key, default) -%}
    {{- return(var('agreement_sync', {}).get(key, default)) -}}
{%- endmacro %}

{% macro cycle_months(cycle) -%}
    case {{ cycle }}
        when 'Quarterly' then 3
        when 'Semi-Annual' then 6
        when 'SemiAnnual' then 6
        when 'Annual' then 12
        when 'Yearly' then 12
        else 1
    end
{%- endmacro %}

{#- A decimal as people write it: 3, 12.5, 95.0001 (no trailing zeros). -#}
{% macro plain_number(column) -%}
    rtrim(rtrim(cast(cast({{ column }} as decimal(18, 4)) as varchar), '0'), '.')
{%- endmacro %}
