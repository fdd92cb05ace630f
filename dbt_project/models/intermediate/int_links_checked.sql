-- Each link crosswalk keeps (sync.links) from an ERP customer to a PSA company or from a
-- location to a site, and, when the company it leads to is gone (deleted, merged away, or
-- purged: int_companies_swept), why. customer-sync marks such links broken with that reason;
-- a broken link stays until an operator sets it again or resets it.

with

links as (
    select * from {{ ref('stg_sync__links') }}
    where link_kind in ('customer', 'location') and target_key <> ''
),

companies as (
    select * from {{ ref('int_companies_swept') }}
),

sites as (
    select * from {{ ref('stg_connectwise__sites') }}
),

targets as (
    select
        links.*,
        case links.link_kind
            when 'customer' then try_cast(links.target_key as bigint)
            else sites.company_id
        end as company_id,
        sites.site_name
    from links
    left join sites
        on links.link_kind = 'location'
        and try_cast(links.target_key as bigint) = sites.site_id
),

final as (
    select
        targets.link_kind || ':' || targets.source_key as link_id,
        targets.link_kind,
        targets.source_key,
        targets.target_key,
        targets.made_by,
        targets.linked_at,
        targets.company_id,
        targets.broken_at,
        targets.broken_reason,
        case when companies.is_deleted then
            case
                when targets.link_kind = 'location'
                    then 'PSA site ' || targets.target_key || ' "' || targets.site_name
                        || '" belongs to company '
                else 'PSA company '
            end
            || companies.company_id || ' "' || companies.company_name || '": '
            || companies.deletion
        end as gone_reason
    from targets
    left join companies on targets.company_id = companies.company_id
)

select * from final
