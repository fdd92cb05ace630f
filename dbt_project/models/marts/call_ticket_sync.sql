-- ERP service calls worked in the PSA (the incumbent's ID912): every open call of
-- [flows.service_sync.to_psa] call_types (and branches, the customer's), not yet linked to a
-- ticket ("[CW #<ticket>]" opens the description of a linked one), and what the service
-- sync's to-PSA step does with it (its push reads this):
--   on sent_hold_code, no retry asked                     -> held (tried; the operator's turn)
--   the customer (or location) maps to no PSA company     -> failed, call-customer-unmapped
--   the mapped company is inactive or deleted in the PSA  -> failed, call-company-inactive
--   otherwise                                             -> create-ticket
-- A call taken off the hold in the ERP, or on it with `crosswalk calls retry`, is tried again.

{% set to_psa = service_sync_setting('to_psa', {}) %}
{% set call_types = to_psa.get('call_types', []) %}
{% set branches = to_psa.get('branches', []) %}

with

calls as (
    select * from {{ ref('stg_eautomate__calls') }}
),

customers as (
    select * from {{ ref('stg_eautomate__customers') }}
),

companies as (
    select * from {{ ref('stg_connectwise__companies') }}
),

-- A company two customers are mapped to is neither's (the mapping reports it).
parents as (
    select customer_number, min(company_id) as company_id
    from {{ ref('mapped_customers') }}
    where company_id is not null
    group by customer_number
),

locations as (
    select customer_number, min(company_id) as company_id, min(site_id) as site_id
    from {{ ref('mapped_locations') }}
    where is_mapped
    group by customer_number
),

retries as (
    select source_key as call_number, linked_at as retry_asked_at, made_by as retry_asked_by
    from {{ ref('stg_sync__links') }}
    where link_kind = 'call-retry'
),

selected as (
    select calls.*
    from calls
    left join customers on customers.customer_number = calls.customer_number
    where calls.ticket_id is null
        and calls.status_code not in ('Invoiced', 'Canceled')
    {%- if call_types %}
        and upper(calls.call_type) in (
            {%- for t in call_types %}{{ quoted(t | upper) }}{{ ", " if not loop.last }}{% endfor -%}
        )
    {%- else %}
        and false
    {%- endif %}
    {%- if branches %}
        and upper(customers.branch_number) in (
            {%- for b in branches %}{{ quoted(b | upper) }}{{ ", " if not loop.last }}{% endfor -%}
        )
    {%- endif %}
),

mapped as (
    select
        selected.*,
        coalesce(locations.company_id, parents.company_id) as company_id,
        locations.site_id,
        retries.retry_asked_at,
        retries.retry_asked_by
    from selected
    left join parents on parents.customer_number = selected.customer_number
    left join locations on locations.customer_number = selected.customer_number
    left join retries on retries.call_number = selected.call_number
),

final as (
    select
        mapped.call_number,
        mapped.customer_number,
        mapped.call_type,
        mapped.status_code,
        mapped.hold_code,
        mapped.caller,
        mapped.equipment_number,
        mapped.description,
        left(coalesce(nullif(trim(mapped.description), ''), 'Call ' || mapped.call_number), 100)
            as summary,
        length(trim(mapped.description)) > 100 as is_summary_cut,
        mapped.call_date,
        mapped.company_id,
        companies.identifier as company_identifier,
        companies.company_name,
        mapped.site_id,
        mapped.retry_asked_at,
        mapped.retry_asked_by,
        case
            when upper(mapped.hold_code) = upper({{ quoted(to_psa.get('sent_hold_code', 'CW')) }})
                and mapped.retry_asked_at is null then 'held'
            when mapped.company_id is null then 'failed'
            when companies.is_deleted or companies.status ilike 'inactive%' then 'failed'
            else 'create-ticket'
        end as action,
        case
            when upper(mapped.hold_code) = upper({{ quoted(to_psa.get('sent_hold_code', 'CW')) }})
                and mapped.retry_asked_at is null then null
            when mapped.company_id is null then 'call-customer-unmapped'
            when companies.is_deleted or companies.status ilike 'inactive%'
                then 'call-company-inactive'
        end as reason_code,
        mapped.last_updated_at
    from mapped
    left join companies on companies.company_id = mapped.company_id
)

select * from final
