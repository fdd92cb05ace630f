{#- The sales-order sync's settings ([flows.sales_order_sync]) the models read. -#}
{% macro sales_order_sync_setting(key, default) -%}
    {{- return(var('sales_order_sync', {}).get(key, default)) -}}
{%- endmacro %}

{#- The PSA order id an ERP order carries as its key: "[CW SO #<id>]" opening its
    Description, or "CW-SO-<id>" as its PO (flows.sales_order_sync.key_in). Either is
    read, so orders keyed either way are found. -#}
{% macro sales_order_key(description, po_number) -%}
    coalesce(
        try_cast(regexp_extract({{ description }}, '^\[CW SO #(\d+)\]', 1) as bigint),
        try_cast(regexp_extract({{ po_number }}, '^CW-SO-(\d+)$', 1) as bigint)
    )
{%- endmacro %}
