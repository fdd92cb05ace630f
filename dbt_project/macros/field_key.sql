{#- A field's value as the customer sync compares it (DESIGN.md section 5): case and
    runs of whitespace do not count, nor does the format of a phone number (its digits,
    without a leading 1 of a ten-digit number), nor a website's scheme, www. or final /.
    Null and empty are the same. -#}
{% macro field_key(field, column) -%}
    {%- if field in ('phone', 'fax') -%}
    regexp_replace(regexp_replace(coalesce({{ column }}, ''), '[^0-9]', '', 'g'),
        '^1([0-9]{10})$', '\1')
    {%- elif field == 'website' -%}
    regexp_replace(lower(regexp_replace(trim(coalesce({{ column }}, '')),
        '^([a-z]+://)?(www\.)?', '', 'i')), '/+$', '')
    {%- else -%}
    lower(trim(regexp_replace(coalesce({{ column }}, ''), '\s+', ' ', 'g')))
    {%- endif -%}
{%- endmacro %}
