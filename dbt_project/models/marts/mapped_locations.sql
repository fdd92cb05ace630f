-- The analyst's view of the location mapping: ERP location beside its PSA site.

with

matched as (
    select * from {{ ref('int_locations_matched') }}
),

sites as (
    select * from {{ ref('stg_connectwise__sites') }}
),

parents as (
    select * from {{ ref('mapped_customers') }}
),

final as (
    select
        matched.customer_number,
        matched.customer_name,
        matched.parent_customer_number,
        matched.parent_company_id as company_id,
        matched.site_id,
        sites.site_name,
        matched.match_rule,
        matched.match_reason,
        matched.site_id is not null as is_mapped,
        matched.claimed_site_id,
        matched.finding_code,
        matched.finding,
        matched.fix,
        coalesce(parents.is_excluded, false) or not {{ var('customer_sync', {}).get('locations', true) }}
            as is_excluded,
        case
            when not {{ var('customer_sync', {}).get('locations', true) }}
                then 'flows.customer_sync.locations is false: customers only'
            when parents.is_excluded
                then 'its parent ' || matched.parent_customer_number || ' is excluded: '
                    || parents.exclusion_reason
        end as exclusion_reason
    from matched
    left join parents on matched.parent_customer_number = parents.customer_number
    left join sites on matched.site_id = sites.site_id
)

select * from final
