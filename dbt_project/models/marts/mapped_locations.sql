-- The analyst's view of the location mapping: ERP location beside its PSA site.

with

matched as (
    select * from {{ ref('int_locations_matched') }}
),

sites as (
    select * from {{ ref('stg_connectwise__sites') }}
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
        matched.fix
    from matched
    left join sites on matched.site_id = sites.site_id
)

select * from final
