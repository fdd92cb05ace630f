-- Each ERP parent customer, the PSA company it is linked to, the rule that decided, and,
-- where the data contradicts a link, a finding that names both records and the fix.
--
-- Rules, in order (seed 004, DESIGN.md section 5):
-- 1. an existing link wins: sync.links, else the customer's ZCJ_CW_CompanyID property;
--    unless it points at an unknown, deleted (merged) or purged company (int_companies_swept),
--    at a company whose Company ID is another customer's number, or at a company another
--    customer claims with better evidence, or the link is marked broken; a link an operator
--    made is never second-guessed by data;
-- 2. else the customer number equals a live company's Company ID (identifier), or the
--    account number of exactly one live company; trimmed, case-insensitive; a number
--    held by a company with an unrelated name is a finding, not a link (the incumbent's
--    classic wrong link);
-- 3. else no link (int_customer_suggestions lists likely partners; a name never links).

{% set customer = record_label("'customer'", 'customer_number', 'customer_name') %}
{% set claimed = record_label("'PSA company'", 'claimed_company_id', 'claimed_company_name') %}
{% set data_company = record_label("'PSA company'", 'data_company_id', 'data_company_name') %}

with

customers as (
    select * from {{ ref('stg_eautomate__customers') }}
    where is_parent
),

companies as (
    select * from {{ ref('int_companies_swept') }}
),

links as (
    select
        source_key as customer_number,
        try_cast(nullif(target_key, '') as bigint) as company_id,
        target_key = '' as is_unlinked,
        made_by,
        broken_at,
        broken_reason
    from {{ ref('stg_sync__links') }}
    where link_kind = 'customer'
),

customer_keys as (
    select upper(trim(customer_number)) as number_key, customer_number, customer_name
    from customers
),

by_identifier as (
    select upper(trim(identifier)) as number_key, min(company_id) as company_id
    from companies
    where not is_deleted
    group by 1
),

by_account_number as (
    select
        upper(trim(account_number)) as number_key,
        min(company_id) as company_id,
        count(*) as companies_sharing
    from companies
    where not is_deleted and nullif(trim(account_number), '') is not null
    group by 1
),

candidates as (
    select
        customers.customer_number,
        customers.customer_name,
        upper(trim(customers.customer_number)) as number_key,
        links.company_id as link_company_id,
        links.made_by as link_made_by,
        links.broken_at as link_broken_at,
        links.broken_reason as link_broken_reason,
        coalesce(links.is_unlinked, false) as is_unlinked,
        customers.cw_company_id_property,
        try_cast(trim(customers.cw_company_id_property) as bigint) as property_company_id,
        by_identifier.company_id as identifier_company_id,
        by_account_number.company_id as account_number_company_id,
        coalesce(by_account_number.companies_sharing, 0) as account_number_companies
    from customers
    left join links on customers.customer_number = links.customer_number
    left join by_identifier
        on upper(trim(customers.customer_number)) = by_identifier.number_key
    left join by_account_number
        on upper(trim(customers.customer_number)) = by_account_number.number_key
),

claims as (
    select
        candidates.*,
        case
            when is_unlinked then null
            when link_company_id is not null then 'link'
            when nullif(trim(cw_company_id_property), '') is not null then 'custom_property'
        end as claim_source,
        case when not is_unlinked
            then coalesce(link_company_id, property_company_id) end as claimed_company_id,
        case
            when identifier_company_id is not null then identifier_company_id
            when account_number_companies = 1 then account_number_company_id
        end as data_company_id,
        case
            when identifier_company_id is not null then 'company_identifier'
            when account_number_companies = 1 then 'account_number'
        end as data_rule
    from candidates
),

checked as (
    select
        claims.*,
        jaro_winkler_similarity(
            lower(claims.customer_name), lower(data_company.company_name)
        ) as data_name_similarity,
        claimed.company_id is not null and not claimed.is_purged as is_claimed_known,
        coalesce(claimed.is_purged, false) as is_claimed_purged,
        coalesce(claimed.is_deleted, false) as is_claimed_deleted,
        claimed.identifier as claimed_identifier,
        claimed.company_name as claimed_company_name,
        data_company.company_name as data_company_name,
        other_customer.customer_number as claimed_identifier_customer,
        other_customer.customer_name as claimed_identifier_customer_name,
        count(claims.claimed_company_id) over (partition by claims.claimed_company_id)
            as customers_claiming
    from claims
    left join companies as claimed on claims.claimed_company_id = claimed.company_id
    left join companies as data_company on claims.data_company_id = data_company.company_id
    left join customer_keys as other_customer
        on upper(trim(claimed.identifier)) = other_customer.number_key
        and other_customer.number_key <> claims.number_key
),

findings as (
    select
        checked.*,
        case
            when claim_source is null then null
            when not is_claimed_known then 'link-unknown-company'
            when is_claimed_deleted then 'link-deleted-company'
            when link_broken_at is not null then 'link-broken'
            when link_made_by = 'operator' then null
            when claimed_identifier_customer is not null then 'link-names-another-customer'
            when customers_claiming > 1 and data_company_id is distinct from claimed_company_id
                then 'company-claimed-twice'
        end as finding_code
    from checked
),

proposed as (
    select
        findings.*,
        case
            when claim_source is not null and finding_code is null then claimed_company_id
            else data_company_id
        end as proposed_company_id,
        claim_source is not null and finding_code is null as is_claim_kept
    from findings
),

-- A company one customer keeps by link or property is not also another's by number.
deduplicated as (
    select
        proposed.*,
        case
            when finding_code is null and not is_claim_kept and proposed_company_id in (
                select proposed_company_id from proposed where is_claim_kept
            ) then 'company-claimed-twice'
            when finding_code is null and not is_claim_kept and data_name_similarity < 0.6
                then 'number-match-name-differs'
            else finding_code
        end as final_finding_code
    from proposed
),

-- The other customers a company-claimed-twice finding is about, by number and name.
named as (
    select
        deduplicated.*,
        (
            select string_agg({{ record_label("'customer'", 'c.customer_number',
                                              'c.customer_name') }}, ' and '
                              order by c.customer_number)
            from claims as c
            where c.claimed_company_id = coalesce(
                    deduplicated.claimed_company_id, deduplicated.data_company_id)
                and c.customer_number <> deduplicated.customer_number
        ) as others
    from deduplicated
),

decided as (
    select
        customer_number,
        customer_name,
        case
            when is_unlinked then null
            when final_finding_code in ('company-claimed-twice', 'number-match-name-differs')
                and not is_claim_kept then null
            else proposed_company_id
        end as company_id,
        case
            when is_unlinked then 'unlinked'
            when final_finding_code in ('company-claimed-twice', 'number-match-name-differs')
                and not is_claim_kept then null
            when is_claim_kept then claim_source
            else data_rule
        end as match_rule,
        case
            when is_unlinked
                then 'unlinked by ' || link_made_by || ' (crosswalk links unlink); no rule links it'
            when final_finding_code = 'company-claimed-twice' and not is_claim_kept
                then 'the company its number points at is linked to another customer'
            when final_finding_code = 'number-match-name-differs'
                then 'the company holding its number has an unrelated name; not linked'
            when claim_source = 'link' and finding_code is null
                then 'linked ' || coalesce('by ' || link_made_by, '') || ' (sync.links)'
            when claim_source = 'custom_property' and finding_code is null
                then 'the customer''s ZCJ_CW_CompanyID names this company'
            when data_rule = 'company_identifier'
                then 'customer number equals the company''s Company ID'
            when data_rule = 'account_number'
                then 'customer number equals the company''s account number'
            when account_number_companies > 1
                then 'customer number is the account number of '
                    || account_number_companies || ' companies; link one by hand'
            else 'no company has this customer number as Company ID or account number'
        end as match_reason,
        -- match_reason's stable code when no company is found (a finding has its own code)
        case
            when is_unlinked then 'unlinked-by-operator'
            when account_number_companies > 1 then 'account-number-shared'
            else 'no-match'
        end as unmatched_code,
        claim_source,
        claimed_company_id,
        case when not is_unlinked then final_finding_code end as finding_code,
        -- the live company a finding is about, for its link: the one it names, or the one
        -- that carries the number when the one it names is gone or unknown
        case when final_finding_code is not null and not is_unlinked
            then case when final_finding_code in ('number-match-name-differs',
                                                  'link-unknown-company', 'link-deleted-company')
                then data_company_id
                else coalesce(claimed_company_id, data_company_id) end
        end as finding_company_id,
        case case when not is_unlinked then final_finding_code end
            when 'link-unknown-company'
                then {{ customer }} || ' is linked (' || claim_source
                    || ') to PSA company ' || claimed_company_id || ', which does not exist'
                    || case when is_claimed_purged
                        then ' any more (the last sweep of every company did not find it)'
                        else '' end
            when 'link-deleted-company'
                then {{ customer }} || ' is linked (' || claim_source || ') to '
                    || {{ claimed }} || ', which is deleted (merged)'
            when 'link-broken'
                then {{ customer }} || ' is linked (sync.links) to ' || {{ claimed }}
                    || ', a link marked broken on '
                    || strftime(timezone('UTC', link_broken_at), '%Y-%m-%d') || ': '
                    || coalesce(link_broken_reason, 'no reason recorded')
            when 'link-names-another-customer'
                then {{ customer }} || ' is linked (' || claim_source || ') to '
                    || {{ claimed }} || ', whose Company ID ' || claimed_identifier || ' is '
                    || {{ record_label("'customer'", 'claimed_identifier_customer',
                                       'claimed_identifier_customer_name') }}
            when 'company-claimed-twice'
                then case when claimed_company_id is not null
                    then {{ customer }} || ' and ' || coalesce(others, 'another customer')
                        || ' are linked to the same ' || {{ claimed }}
                    else {{ customer }} || ' has its number on ' || {{ data_company }}
                        || ', which ' || coalesce(others, 'another customer') || ' is linked to'
                    end
            when 'number-match-name-differs'
                then {{ customer }} || ' has its number on ' || {{ data_company }}
                    || ': the names are unrelated'
        end as finding,
        case case when not is_unlinked then final_finding_code end
            when 'link-unknown-company'
                then case when claim_source = 'link'
                    then 'Link it to the right company (crosswalk links set ' || customer_number
                        || ' ID), or let the rules decide (crosswalk links reset '
                        || customer_number || ')'
                    else 'Clear or correct ZCJ_CW_CompanyID on the ERP customer' end
                    || case when data_company_id is not null
                        then '; crosswalk will write ' || data_company_id || ' ("'
                            || data_company_name || '"), the company that carries the '
                            || 'customer number' else '' end
            when 'link-deleted-company'
                then case when claim_source = 'link'
                    then 'Link it to the company this one was merged into (crosswalk links set '
                        || customer_number || ' ID), or let the rules decide (crosswalk links '
                        || 'reset ' || customer_number || ')'
                    else 'Point ZCJ_CW_CompanyID at the company this one was merged into' end
                    || case when data_company_id is not null
                        then ' (' || data_company_id || ' "' || data_company_name
                            || '" carries the customer number; crosswalk will write it)'
                        else '' end
            when 'link-broken'
                then 'Confirm the link (crosswalk links set ' || customer_number || ' '
                    || claimed_company_id || '), or let the rules decide (crosswalk links reset '
                    || customer_number || ')'
            when 'link-names-another-customer'
                then 'Decide which customer the PSA company is: correct its Company ID in '
                    || 'ConnectWise, or the customer''s ZCJ_CW_CompanyID in e-automate'
            when 'company-claimed-twice'
                then 'Keep ZCJ_CW_CompanyID on the customer the PSA company really is and '
                    || 'clear it on the others'
            when 'number-match-name-differs'
                then 'If they are the same business, link them (crosswalk links set); if not, '
                    || 'correct the Company ID or account number in ConnectWise'
        end as fix
    from named
)

select * from decided
