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

links as (
    select * from {{ ref('stg_sync__links') }}
    where link_kind = 'location'
),

seen as (
    select * from {{ ref('stg_sync__pairs_seen') }}
    where link_kind = 'location'
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
        -- when an operator or crosswalk made the link, else when the sync first found it
        coalesce(
            case when links.target_key = cast(matched.site_id as varchar)
                then links.linked_at end,
            seen.first_seen_at
        ) as linked_since,
        matched.claimed_site_id,
        matched.finding_code,
        matched.finding,
        matched.fix,
        matched.finding_company_id,
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
    left join links on matched.customer_number = links.source_key
    left join seen
        on matched.customer_number = seen.source_key
        and cast(matched.site_id as varchar) = seen.target_key
)

select * from final
