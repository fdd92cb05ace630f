-- Likely PSA partners for ERP parent customers that no rule linked, with a score and the
-- evidence, for an operator to confirm (`crosswalk links`). Evidence is a shared phone
-- number, a shared website domain, or the same postcode with a similar name; a name alone
-- is never evidence, and nothing here links by itself. A pair an operator rejected is never
-- suggested again.

with

matched as (
    select * from {{ ref('int_customers_matched') }}
),

customers as (
    select * from {{ ref('stg_eautomate__customers') }}
    where is_parent
),

rejected as (
    select * from {{ ref('stg_sync__rejected_suggestions') }}
),

companies as (
    select * from {{ ref('int_companies_swept') }}
    where not is_deleted
),

unlinked_customers as (
    select
        customers.customer_number,
        customers.customer_name,
        right(regexp_replace(coalesce(customers.phone, ''), '[^0-9]', '', 'g'), 10) as phone_key,
        upper(trim(coalesce(customers.zip, ''))) as zip_key,
        {{ web_domain('customers.website') }} as domain_key,
        lower(trim(customers.customer_name)) as name_key
    from customers
    inner join matched on customers.customer_number = matched.customer_number
    where matched.company_id is null
),

unlinked_companies as (
    select
        company_id,
        identifier,
        company_name,
        right(regexp_replace(coalesce(phone_number, ''), '[^0-9]', '', 'g'), 10) as phone_key,
        upper(trim(coalesce(zip, ''))) as zip_key,
        {{ web_domain('website') }} as domain_key,
        lower(trim(company_name)) as name_key
    from companies
    where company_id not in (select company_id from matched where company_id is not null)
),

pairs as (
    select
        c.customer_number,
        c.customer_name,
        p.company_id,
        p.identifier as company_identifier,
        p.company_name,
        length(c.phone_key) >= 7 and c.phone_key = p.phone_key as is_same_phone,
        c.domain_key <> '' and c.domain_key = p.domain_key as is_same_domain,
        jaro_winkler_similarity(c.name_key, p.name_key) as name_similarity,
        c.zip_key <> '' and c.zip_key = p.zip_key as is_same_zip,
        c.phone_key as phone_key,
        c.domain_key as domain_key,
        c.zip_key as zip_key
    from unlinked_customers as c
    inner join unlinked_companies as p
        on (length(c.phone_key) >= 7 and c.phone_key = p.phone_key)
        or (c.domain_key <> '' and c.domain_key = p.domain_key)
        or (c.zip_key <> '' and c.zip_key = p.zip_key)
    anti join rejected
        on c.customer_number = rejected.customer_number
        and p.company_id = rejected.company_id
),

scored as (
    select
        *,
        is_same_zip and name_similarity >= 0.85 as is_zip_and_name,
        least(
            1.0,
            0.5 * is_same_phone::int
            + 0.4 * is_same_domain::int
            + 0.3 * (is_same_zip and name_similarity >= 0.85)::int
            + 0.1 * name_similarity
        ) as score
    from pairs
),

suggested as (
    select
        customer_number || ':' || company_id as suggestion_id,
        customer_number,
        customer_name,
        company_id,
        company_identifier,
        company_name,
        round(score, 2) as score,
        concat_ws(
            '; ',
            case when is_same_phone then 'same phone number (' || phone_key || ')' end,
            case when is_same_domain then 'same website domain (' || domain_key || ')' end,
            case when is_zip_and_name
                then 'same postcode (' || zip_key || ') and a similar name ('
                    || round(name_similarity * 100) || '%)' end
        ) as evidence,
        row_number() over (
            partition by customer_number order by score desc, company_id
        ) as suggestion_rank
    from scored
    where is_same_phone or is_same_domain or is_zip_and_name
)

select * from suggested
