-- The batch-sheet lines to push: matched calls not yet on a sheet, one line per call,
-- keyed by its line hash (the push groups them into one sheet per location and product
-- group for the run's batch date).

with

matched as (
    select * from {{ ref('int_calls_matched') }}
),

final as (
    select
        line_hash,
        location_id,
        product_group_id,
        account_id,
        product_id,
        call_date as charge_date,
        cast(quantity as decimal(14, 3)) as quantity,
        cast(unit_price as decimal(12, 4)) as unit_price,
        cast(amount as decimal(14, 2)) as amount,
        left(
            strftime(call_started_at, '%Y-%m-%d %H:%M') || ' ext ' || coalesce(extension, '?')
            || ' to ' || coalesce(dialled_number, '?') || ', ' || billable_seconds || ' s'
            || coalesce(', ' || category, ''),
            255
        ) as description,
        source_device,
        call_started_at
    from matched
    where decision = 'to_charge'
)

select * from final
