-- Calls that are not charged yet and what would let them through: one row per location,
-- device, reason and account code (calls with no code: one row per location and device,
-- naming their extensions), with how many calls and how much money wait on it.

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
        string_agg(distinct extension, ', ' order by extension) as extensions,
        count(*) as calls,
        sum(amount) as amount,
        min(call_date) as first_call_date,
        max(call_date) as last_call_date,
        any_value(reason) as reason
    from matched
    where decision = 'waiting'
    group by location_id, source_device, application_id, reason_code, 5
),

final as (
    select
        concat_ws(
            '|', location_id, source_device, reason_code, coalesce(account_code, '')
        ) as waiting_id,
        *
    from waiting
)

select * from final
