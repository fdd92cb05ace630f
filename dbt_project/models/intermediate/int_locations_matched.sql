-- Each ERP location (child customer), the PSA site it is linked to, and why: the same
-- rules as customers, within the company its parent customer is linked to.
-- 1. an existing link wins: sync.links, else ZCJ_CW_SiteAddressRecID, unless the site
--    does not exist, belongs to a deleted (merged) or purged company, or to a company other
--    than the parent's, or the link is marked broken (a finding);
-- 2. else the one site of the parent's company named as the location (its name or its
--    customer number), trimmed, case-insensitive;
-- 3. else no link: the location waits for its parent, or for a site to be created.

{% set location = record_label("'location'", 'customer_number', 'customer_name') %}
{% set site = record_label("'PSA site'", 'claimed_site_id', 'claimed_site_name') %}
{% set claimed_company = record_label("'company'", 'claimed_site_company_id',
                                      'claimed_company_name') %}
{% set parent = record_label("'customer'", 'parent_customer_number', 'parent_customer_name') %}
{% set parent_company = record_label("'PSA company'", 'parent_company_id',
                                     'parent_company_name') %}

with

locations as (
    select * from {{ ref('stg_eautomate__customers') }}
    where not is_parent
),

parents as (
    select * from {{ ref('int_customers_matched') }}
),

sites as (
    select * from {{ ref('stg_connectwise__sites') }}
),

companies as (
    select * from {{ ref('int_companies_swept') }}
),

links as (
    select
        source_key as customer_number,
        try_cast(target_key as bigint) as site_id,
        made_by,
        broken_at,
        broken_reason
    from {{ ref('stg_sync__links') }}
    where link_kind = 'location'
),

named_sites as (
    select
        company_id,
        upper(trim(site_name)) as name_key,
        min(site_id) as site_id,
        count(*) as sites_named
    from sites
    group by 1, 2
),

candidates as (
    select
        locations.customer_number,
        locations.customer_name,
        locations.parent_customer_number,
        parents.customer_name as parent_customer_name,
        parents.company_id as parent_company_id,
        parent_company.company_name as parent_company_name,
        links.site_id as link_site_id,
        links.made_by as link_made_by,
        links.broken_at as link_broken_at,
        links.broken_reason as link_broken_reason,
        locations.cw_site_id_property,
        case
            when links.site_id is not null then 'link'
            when nullif(trim(locations.cw_site_id_property), '') is not null
                then 'custom_property'
        end as claim_source,
        coalesce(links.site_id, try_cast(trim(locations.cw_site_id_property) as bigint))
            as claimed_site_id,
        coalesce(by_name.site_id, by_number.site_id) as named_site_id,
        coalesce(by_name.sites_named, by_number.sites_named, 0) as sites_named
    from locations
    left join parents on locations.parent_customer_number = parents.customer_number
    left join companies as parent_company on parents.company_id = parent_company.company_id
    left join links on locations.customer_number = links.customer_number
    left join named_sites as by_name
        on parents.company_id = by_name.company_id
        and upper(trim(locations.customer_name)) = by_name.name_key
    left join named_sites as by_number
        on parents.company_id = by_number.company_id
        and upper(trim(locations.customer_number)) = by_number.name_key
),

checked as (
    select
        candidates.*,
        claimed.site_id is not null as is_claimed_known,
        claimed.company_id as claimed_site_company_id,
        claimed.site_name as claimed_site_name,
        claimed_company.company_name as claimed_company_name,
        claimed_company.deletion as claimed_company_deletion,
        case
            when claim_source is null then null
            when claimed.site_id is null then 'link-unknown-site'
            when claimed_company.is_deleted then 'link-site-of-deleted-company'
            when link_broken_at is not null then 'link-broken'
            when link_made_by = 'operator' then null
            when parent_company_id is not null and claimed.company_id <> parent_company_id
                then 'link-site-of-another-company'
        end as finding_code
    from candidates
    left join sites as claimed on candidates.claimed_site_id = claimed.site_id
    left join companies as claimed_company on claimed.company_id = claimed_company.company_id
),

decided as (
    select
        customer_number,
        customer_name,
        parent_customer_number,
        parent_company_id,
        case
            when is_claim_kept then claimed_site_id
            when sites_named = 1 then named_site_id
        end as site_id,
        case
            when is_claim_kept then claim_source
            when sites_named = 1 then 'site_name'
        end as match_rule,
        case
            when claim_source = 'link' and is_claim_kept
                then 'linked ' || coalesce('by ' || link_made_by, '') || ' (sync.links)'
            when claim_source = 'custom_property' and is_claim_kept
                then 'the location''s ZCJ_CW_SiteAddressRecID names this site'
            when claim_source is not null and finding_code is null
                then 'the parent customer ' || parent_customer_number || ' is not linked yet; '
                    || 'the claim on site ' || claimed_site_id || ' waits for it'
            when sites_named = 1 then 'a site of the parent''s company has the location''s name'
            when sites_named > 1
                then sites_named || ' sites of the parent''s company have the location''s name; '
                    || 'link one by hand'
            when parent_company_id is null
                then 'the parent customer ' || parent_customer_number || ' is not linked yet'
            else 'no site of the parent''s company has the location''s name or number'
        end as match_reason,
        claim_source,
        claimed_site_id,
        finding_code,
        -- the live company a finding is about, for its link: the site's, else the parent's
        case when finding_code = 'link-site-of-deleted-company' then parent_company_id
            when finding_code is not null
                then coalesce(claimed_site_company_id, parent_company_id)
        end as finding_company_id,
        case finding_code
            when 'link-unknown-site'
                then {{ location }} || ' is linked (' || claim_source
                    || ') to PSA site ' || claimed_site_id || ', which does not exist'
            when 'link-site-of-deleted-company'
                then {{ location }} || ' is linked (' || claim_source || ') to '
                    || {{ site }} || ' of ' || {{ claimed_company }} || ', '
                    || claimed_company_deletion
            when 'link-broken'
                then {{ location }} || ' is linked (sync.links) to ' || {{ site }}
                    || ', a link marked broken on '
                    || strftime(timezone('UTC', link_broken_at), '%Y-%m-%d') || ': '
                    || coalesce(link_broken_reason, 'no reason recorded')
            when 'link-site-of-another-company'
                then {{ location }} || ' is linked (' || claim_source || ') to '
                    || {{ site }} || ' of ' || {{ claimed_company }} || ', but its parent '
                    || {{ parent }} || ' is ' || {{ parent_company }}
        end as finding,
        case finding_code
            when 'link-unknown-site'
                then 'Clear or correct ZCJ_CW_SiteAddressRecID on the ERP location'
            when 'link-site-of-deleted-company'
                then 'Point the location at a site of the company its parent is now ('
                    || case when claim_source = 'link'
                        then 'crosswalk links set ' || customer_number || ' SITE --location'
                        else 'ZCJ_CW_SiteAddressRecID' end
                    || ')'
            when 'link-broken'
                then 'Confirm the link (crosswalk links set ' || customer_number || ' '
                    || claimed_site_id || ' --location), or let the rules decide '
                    || '(crosswalk links reset ' || customer_number || ' --location)'
            when 'link-site-of-another-company'
                then 'Point ZCJ_CW_SiteAddressRecID at a site of ' || {{ parent_company }}
                    || ', or correct the parent''s link'
        end as fix
    from (
        -- a rule's claim holds only on a site of the parent's company: it waits while
        -- the parent is unlinked (an operator's or crosswalk's link is taken as made)
        select
            *,
            claim_source is not null and finding_code is null
                and (parent_company_id is not null or link_made_by in ('operator', 'crosswalk'))
                as is_claim_kept
        from checked
    )
),

-- A site two locations land on is neither's: both are findings, for a person to settle.
deduplicated as (
    select
        decided.*,
        sites.site_name as matched_site_name,
        decided.site_id is not null
            and count(*) over (partition by decided.site_id) > 1 as is_claimed_twice,
        -- (not for the locations matched to no site: at large, the 7,630 names of their one
        -- partition joined for each of them took 700 MB, beyond DuckDB's memory_limit)
        string_agg({{ location }}, ' and ' order by customer_number)
            filter (where decided.site_id is not null)
            over (partition by decided.site_id) as site_locations
    from decided
    left join sites on decided.site_id = sites.site_id
),

final as (
    select * exclude (is_claimed_twice, matched_site_name, site_locations) replace (
        case when is_claimed_twice then null else site_id end as site_id,
        case when is_claimed_twice then null else match_rule end as match_rule,
        case when is_claimed_twice then 'another location is matched to the same site'
            else match_reason end as match_reason,
        case when is_claimed_twice then 'site-claimed-twice' else finding_code end
            as finding_code,
        case when is_claimed_twice
            then site_locations || ' are matched to the same '
                || {{ record_label("'PSA site'", 'site_id', 'matched_site_name') }}
            else finding end as finding,
        case when is_claimed_twice then parent_company_id else finding_company_id end
            as finding_company_id,
        case when is_claimed_twice
            then 'Keep ZCJ_CW_SiteAddressRecID on the location the site really is and clear '
                || 'it on the other (or link by hand: crosswalk links set --location)'
            else fix end as fix
    )
    from deduplicated
)

select * from final
