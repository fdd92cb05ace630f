{#- A charge line's amount as Operate makes it: quantity (3 places) times unit price
    (4 places), rounded half up to the cent. Both sides are DECIMAL, so the product is
    exact, and DuckDB rounds a DECIMAL's half away from zero: 0.285 is 0.29, as Operate
    charges it (a DOUBLE 0.285 is 0.28499..., a cent short). -#}
{% macro charge_amount(quantity, unit_price) -%}
    cast(round(cast({{ quantity }} as decimal(14, 3))
        * cast({{ unit_price }} as decimal(12, 4)), 2) as decimal(14, 2))
{%- endmacro %}
