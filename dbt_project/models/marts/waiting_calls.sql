-- Calls that are not charged yet and what would let them through: one row per location,
-- device, reason and account code (calls with no code: one row per location and device),
-- with how many calls and how much money wait on it, and the extensions they came from
-- (the ten with most calls first).

with

matched as (
    select * from {{ ref('int_calls_matched') }}
),

waiting as (
    select
        *,
        case when reason_code <> 'account-code-blank' then account_code end as waiting_code
    from matched
    where decision = 'waiting'
),

by_extension as (
    select
        location_id,
        source_device,
        reason_code,
        waiting_code,
        extension,
        count(*) as extension_calls,
        row_number() over (
            partition by location_id, source_device, reason_code, waiting_code
            order by count(*) desc, extension
        ) as extension_rank
    from waiting
    group by location_id, source_device, reason_code, waiting_code, extension
),

extensions as (
    select
        location_id,
        source_device,
        reason_code,
        waiting_code,
        count(*) as extension_count,
        string_agg(
            coalesce(extension, '?') || ' (' || extension_calls || ')', ', '
            order by extension_rank
        ) filter (where extension_rank <= 10) as top_extensions
    from by_extension
    group by location_id, source_device, reason_code, waiting_code
),

grouped as (
    select
        location_id,
        source_device,
        reason_code,
        waiting_code as account_code,
        any_value(application_id) as application_id,
        count(*) as calls,
        cast(sum(amount) as decimal(18, 2)) as amount,
        min(call_date) as first_call_date,
        max(call_date) as last_call_date,
        any_value(reason) as reason
    from waiting
    group by location_id, source_device, reason_code, waiting_code
),

final as (
    select
        concat_ws(
            '|', grouped.location_id, grouped.source_device, grouped.reason_code,
            coalesce(grouped.account_code, '')
        ) as waiting_id,
        grouped.*,
        extensions.extension_count,
        extensions.top_extensions
            || case when extensions.extension_count > 10
                then ' and ' || (extensions.extension_count - 10) || ' more' else '' end
            as extensions
    from grouped
    inner join extensions
        on extensions.location_id = grouped.location_id
        and extensions.source_device = grouped.source_device
        and extensions.reason_code = grouped.reason_code
        and extensions.waiting_code is not distinct from grouped.account_code
)

select * from final
