-- Calls that are not charged yet and what would let them through: one row per location,
-- application, reason and account code (per extension when the calls have no code),
-- with how many calls and how much money wait on it.

with

matched as (
    select * from {{ ref('int_calls_matched') }}
),

waiting as (
    select
        location_id,
        source_device,
        application_id,
        reason_code,
        case when reason_code <> 'no_account_code' then account_code end as account_code,
        case when reason_code = 'no_account_code' then extension end as extension,
        count(*) as calls,
        sum(amount) as amount,
        min(call_date) as first_call_date,
        max(call_date) as last_call_date,
        any_value(reason) as reason
    from matched
    where decision = 'waiting'
    group by all
),

final as (
    select
        concat_ws(
            '|', location_id, source_device, reason_code,
            coalesce(account_code, ''), coalesce(extension, '')
        ) as waiting_id,
        *
    from waiting
)

select * from final
