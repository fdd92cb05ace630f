-- Per linked pair and field (ERP master, DESIGN.md section 5): the ERP value, what the
-- PSA holds, the value both last agreed on (sync.field_base), and what the push does:
--   in-sync   both sides hold the same value (after normalisation): nothing to send;
--   to-psa    the ERP value goes to the PSA (first sync, the ERP changed, or the PSA
--             drifted from the base on its own: the ERP is master);
--   conflict  both changed since the base, to different values: nothing is sent until an
--             operator picks one (crosswalk conflicts resolve);
--   resolved  an operator picked a value: it goes to whichever side does not hold it;
--   to-erp    the PSA owns the field: its value goes into the ERP. A field the ERP owns
--             always goes to the PSA, never a conflict. The owner is an operator's
--             decision (sync.field_owners: the inbox, crosswalk conflicts own) or the
--             configuration's (flows.customer_sync.field_owners); one named for a customer
--             (or location) wins over one for all, a parent's is its locations' too, and
--             within one scope the operator's decision wins.
-- Excluded records and fields switched off (flows.customer_sync.skip_fields) have no row.
-- A value longer than the PSA field is compared and sent cut to the limit, and flagged.
-- Both PSA tables, whichever fields are switched off: the graph does not follow the vars,
-- so one parse serves every configuration (crosswalk/dbt.py).
-- depends_on: {{ ref('stg_connectwise__companies') }}
-- depends_on: {{ ref('stg_connectwise__sites') }}

{%- set sync = var('customer_sync', {}) %}
{%- set skipped = sync.get('skip_fields') or [] %}
{%- set owners = sync.get('field_owners') or {} %}
{%- set fields = [
    ('name', 'name', 'name', 50, 'customer_name', 'company_name', 'site_name'),
    ('address_line1', 'addressLine1', 'addressLine1', 50, 'address_line1', 'address_line1', 'address_line1'),
    ('address_line2', 'addressLine2', 'addressLine2', 50, 'address_line2', 'address_line2', 'address_line2'),
    ('city', 'city', 'city', 50, 'city', 'city', 'city'),
    ('state', 'state', 'stateReference', 50, 'state', 'state', 'state'),
    ('zip', 'zip', 'zip', 12, 'zip', 'zip', 'zip'),
    ('phone', 'phoneNumber', 'phoneNumber', 30, 'phone', 'phone_number', 'phone_number'),
    ('fax', 'faxNumber', 'faxNumber', 30, 'fax', 'fax_number', 'fax_number'),
    ('website', 'website', none, 255, 'website', 'website', none),
] %}

with

erp as (
    select * from {{ ref('int_erp_customer_fields') }}
),

all_pairs as (
    select
        'customer' as link_kind,
        mapped.customer_number,
        mapped.customer_number as parent_customer_number,
        mapped.company_id,
        cast(null as bigint) as site_id,
        cast(mapped.company_id as varchar) as target_key
    from {{ ref('mapped_customers') }} as mapped
    where mapped.company_id is not null and not mapped.is_excluded
    union all
    select
        'location',
        mapped.customer_number,
        mapped.parent_customer_number,
        mapped.company_id,
        mapped.site_id,
        cast(mapped.site_id as varchar)
    from {{ ref('mapped_locations') }} as mapped
    where mapped.site_id is not null and not mapped.is_excluded
),

-- A PSA record two ERP records map to gets neither's values (the mapping reports why).
pairs as (
    select * from all_pairs
    qualify count(*) over (partition by link_kind, target_key) = 1
),

fields as (
    {%- set rows = [] %}
    {%- for field, company_path, site_path, limit, erp_column, company_column, site_column in fields
        if field not in skipped and not (field.startswith('address') and 'address' in skipped) %}
    {%- for kind, path, psa, column in [
        ('customer', company_path, 'companies', company_column),
        ('location', site_path, 'sites', site_column)] if path %}
    {%- do rows.append(1) %}
    {{ 'union all' if rows | length > 1 }}
    select
        pairs.link_kind,
        pairs.customer_number,
        pairs.parent_customer_number,
        {{ psa }}.company_id,
        pairs.site_id,
        pairs.target_key,
        '{{ field }}' as field,
        '{{ path }}' as psa_path,
        {{ limit }} as psa_limit,
        erp.{{ erp_column }} as erp_value,
        nullif(trim({{ psa }}.{{ column }}), '') as psa_value,
        {{ field_key(field, 'left(erp.' ~ erp_column ~ ', ' ~ limit ~ ')') }} as erp_key,
        {{ field_key(field, psa ~ '.' ~ column) }} as psa_key
    from pairs
    inner join erp on pairs.customer_number = erp.customer_number
    {%- if psa == 'companies' %}
    inner join {{ ref('stg_connectwise__companies') }} as companies
        on pairs.company_id = companies.company_id
    {%- else %}
    inner join {{ ref('stg_connectwise__sites') }} as sites on pairs.site_id = sites.site_id
    {%- endif %}
    where pairs.link_kind = '{{ kind }}'
    {%- endfor %}
    {%- endfor %}
),

conflicts as (
    select * from {{ ref('stg_sync__conflicts') }}
    where is_open or is_resolved_unsettled
),

decided_owners as (
    select * from {{ ref('stg_sync__field_owners') }}
),

compared as (
    select
        fields.*,
        left(fields.erp_value, fields.psa_limit) as erp_sent,
        length(fields.erp_value) > fields.psa_limit as is_truncated,
        base.base_value,
        conflicts.conflict_id,
        conflicts.resolution,
        case conflicts.resolution
            when 'erp' then left(fields.erp_value, fields.psa_limit)
            when 'psa' then fields.psa_value
            when 'value' then conflicts.resolved_value
        end as chosen_value,
        case
            when fields.field in ('phone', 'fax') then {{ field_key('phone', 'chosen_value') }}
            when fields.field = 'website' then {{ field_key('website', 'chosen_value') }}
            else {{ field_key('name', 'chosen_value') }}
        end as chosen_key,
        -- The most specific scope wins: the record's own, its parent's, every
        -- customer's; within one, an operator's decision (sync.field_owners) wins over
        -- the configuration (flows.customer_sync.field_owners).
        coalesce(
            own.owner,
            {{ configured_owner(owners, 'fields.customer_number') }},
            parent.owner,
            {{ configured_owner(owners, 'fields.parent_customer_number') }},
            every.owner,
            {{ configured_owner(owners, none) }}
        ) as field_owner
    from fields
    left join {{ ref('stg_sync__field_base') }} as base
        on fields.link_kind = base.link_kind
        and fields.customer_number = base.source_key
        and fields.field = base.field
        and fields.target_key = base.target_key
    left join conflicts
        on fields.link_kind = conflicts.link_kind
        and fields.customer_number = conflicts.source_key
        and fields.field = conflicts.field
    left join decided_owners as own
        on fields.customer_number = own.customer_number and fields.field = own.field
    left join decided_owners as parent
        on fields.parent_customer_number = parent.customer_number and fields.field = parent.field
    left join decided_owners as every
        on every.is_for_every_customer and fields.field = every.field
),

decided as (
    select
        compared.*,
        case
            when erp_key = psa_key then 'in-sync'
            when resolution is not null then 'resolved'
            when field_owner = 'psa' then 'to-erp'
            when field_owner = 'erp' then 'to-psa'
            when base_value is null then 'to-psa'
            when erp_key <> base_value and psa_key <> base_value then 'conflict'
            else 'to-psa'
        end as action
    from compared
),

final as (
    select
        link_kind,
        customer_number,
        parent_customer_number,
        company_id,
        site_id,
        target_key,
        field,
        psa_path,
        psa_limit,
        erp_value,
        erp_sent,
        psa_value,
        base_value,
        erp_key,
        psa_key,
        is_truncated,
        conflict_id,
        resolution,
        chosen_value,
        chosen_key,
        field_owner,
        action,
        case
            when action = 'to-psa' then coalesce(erp_sent, '')
            when action = 'resolved' and psa_key <> chosen_key
                then coalesce(chosen_value, '')
        end as to_psa,
        case
            when action = 'to-erp' then coalesce(psa_value, '')
            when action = 'resolved' and erp_key <> chosen_key
                then coalesce(chosen_value, '')
        end as to_erp
    from decided
)

select * from final
