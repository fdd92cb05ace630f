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
