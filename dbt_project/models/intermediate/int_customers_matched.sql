-- Each ERP parent customer with the PSA company its number points at, and why.
-- Rule: the customer number equals a live company's Company ID (identifier), else its
-- account number when exactly one live company carries it; compared trimmed and
-- case-insensitively. Existing links and suggestions join this model as the customer
-- sync grows; a name alone never links.

with

customers as (
    select * from {{ ref('stg_eautomate__customers') }}
),

companies as (
    select * from {{ ref('stg_connectwise__companies') }}
),

live_companies as (
    select
        company_id,
        upper(trim(identifier)) as identifier_key,
        upper(trim(account_number)) as account_number_key
    from companies
    where not is_deleted
),

by_identifier as (
    select identifier_key as match_key, min(company_id) as company_id
    from live_companies
    group by 1
),

by_account_number as (
    select
        account_number_key as match_key,
        min(company_id) as company_id,
        count(*) as companies_sharing
    from live_companies
    where account_number_key is not null and account_number_key <> ''
    group by 1
),

matched as (
    select
        customers.customer_number,
        customers.customer_name,
        by_identifier.company_id as identifier_company_id,
        by_account_number.company_id as account_number_company_id,
        coalesce(by_account_number.companies_sharing, 0) as account_number_companies
    from customers
    left join by_identifier
        on upper(trim(customers.customer_number)) = by_identifier.match_key
    left join by_account_number
        on upper(trim(customers.customer_number)) = by_account_number.match_key
    where customers.is_parent
),

decided as (
    select
        customer_number,
        customer_name,
        case
            when identifier_company_id is not null then identifier_company_id
            when account_number_companies = 1 then account_number_company_id
        end as company_id,
        case
            when identifier_company_id is not null then 'company_identifier'
            when account_number_companies = 1 then 'account_number'
        end as match_rule,
        case
            when identifier_company_id is not null
                then 'customer number equals the company''s Company ID'
            when account_number_companies = 1
                then 'customer number equals the company''s account number'
            when account_number_companies > 1
                then 'customer number is the account number of '
                    || account_number_companies || ' companies; link one by hand'
            else 'no company has this customer number as Company ID or account number'
        end as match_reason
    from matched
)

select * from decided
