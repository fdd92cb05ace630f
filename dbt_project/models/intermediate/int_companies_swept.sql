-- Each PSA company as landed, judged again by the last sweep of every company id
-- (customer-sync, flows.customer_sync.sweep_hours). Companies land by lastUpdated, which a
-- deletion by merge leaves alone and a purge takes away with the record, so:
-- - deleted: its record says so, or the sweep saw deletedFlag;
-- - purged: it landed before the sweep began and the sweep did not return it; a purged
--   company counts as deleted everywhere, and as unknown to a link that names it.
-- Before the first sweep nothing is purged.

with

companies as (
    select * from {{ ref('stg_connectwise__companies') }}
),

swept as (
    select * from {{ ref('stg_connectwise__company_ids') }}
),

watermarks as (
    select * from {{ ref('stg_sync__watermarks') }}
),

last_sweep as (
    select max(try_cast(cursor_value as timestamptz)) as swept_at
    from watermarks
    where system = 'connectwise' and entity = 'company_ids'
),

judged as (
    select
        companies.*,
        last_sweep.swept_at,
        coalesce(swept.is_deleted, false) as is_swept_deleted,
        last_sweep.swept_at is not null
            and swept.company_id is null
            and companies.loaded_at < last_sweep.swept_at as is_purged
    from companies
    cross join last_sweep
    left join swept on companies.company_id = swept.company_id
),

final as (
    select
        company_id,
        identifier,
        company_name,
        status,
        account_number,
        address_line1,
        address_line2,
        city,
        state,
        zip,
        phone_number,
        fax_number,
        website,
        territory,
        company_types,
        is_deleted or is_swept_deleted or is_purged as is_deleted,
        is_purged,
        case
            when is_purged
                then 'gone: the sweep of '
                    || strftime(timezone('UTC', swept_at), '%Y-%m-%d %H:%M UTC')
                    || ' did not find it (purged)'
            when is_deleted then 'deleted (merged)'
            when is_swept_deleted
                then 'deleted (merged); seen by the sweep of '
                    || strftime(timezone('UTC', swept_at), '%Y-%m-%d %H:%M UTC')
        end as deletion,
        swept_at,
        last_updated_at,
        loaded_at
    from judged
)

select * from final
