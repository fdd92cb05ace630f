-- The analyst's view of the customer mapping: ERP customer beside its PSA company.
-- The contract filter (customer_sync_filter) reads contracts only when contract types are
-- configured; the graph does not follow the vars (crosswalk/dbt.py).
-- depends_on: {{ ref('stg_eautomate__contracts') }}

with

matched as (
    select * from {{ ref('int_customers_matched') }}
),

customers as (
    select * from {{ ref('stg_eautomate__customers') }}
),

companies as (
    select * from {{ ref('stg_connectwise__companies') }}
),

links as (
    select * from {{ ref('stg_sync__links') }}
    where link_kind = 'customer'
),

seen as (
    select * from {{ ref('stg_sync__pairs_seen') }}
    where link_kind = 'customer'
),

synced as (
    select source_key as customer_number, max(synced_at) as last_synced_at
    from {{ ref('stg_sync__field_base') }}
    where link_kind = 'customer'
    group by 1
),

exclusions as (
    select * from {{ ref('stg_sync__exclusions') }}
    where flow = 'customer-sync' and system = 'eautomate'
),

final as (
    select
        matched.customer_number,
        matched.customer_name,
        customers.is_active,
        customers.customer_type_code,
        customers.branch_number,
        customers.territory_code,
        matched.company_id,
        companies.identifier as company_identifier,
        companies.company_name,
        matched.match_rule,
        matched.match_reason,
        matched.company_id is not null as is_mapped,
        -- when an operator or crosswalk made the link, else when the sync first found it
        coalesce(
            case when links.target_key = cast(matched.company_id as varchar)
                then links.linked_at end,
            seen.first_seen_at
        ) as linked_since,
        case when links.target_key = cast(matched.company_id as varchar)
            then links.made_by end as linked_by,
        synced.last_synced_at,
        matched.claimed_company_id,
        matched.finding_code,
        matched.finding,
        matched.fix,
        matched.finding_company_id,
        exclusions.record_key is not null
            or upper(trim(coalesce(customers.sync_to_cw_property, ''))) = 'NO'
            or {{ customer_sync_filter('customers') }} is not null as is_excluded,
        case
            when exclusions.record_key is not null
                then 'excluded by ' || exclusions.excluded_by
                    || coalesce(': ' || exclusions.reason, '') || ' (crosswalk exclude)'
            when upper(trim(customers.sync_to_cw_property)) = 'NO'
                then 'ZCJ_SyncToCW is No on the ERP customer'
            else {{ customer_sync_filter('customers') }}
        end as exclusion_reason
    from matched
    inner join customers on matched.customer_number = customers.customer_number
    left join companies on matched.company_id = companies.company_id
    left join exclusions on matched.customer_number = exclusions.record_key
    left join links on matched.customer_number = links.source_key
    left join synced on matched.customer_number = synced.customer_number
    left join seen
        on matched.customer_number = seen.source_key
        and cast(matched.company_id as varchar) = seen.target_key
)

select * from final
