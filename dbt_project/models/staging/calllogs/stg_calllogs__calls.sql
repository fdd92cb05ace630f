with

source as (
    select * from {{ source('raw_calllogs', 'calls') }}
),

renamed as (
    select
        cast(line_hash as varchar) as line_hash,
        cast(location_id as bigint) as location_id,
        cast(source_device as varchar) as source_device,
        cast(layout as varchar) as layout,
        cast(call_id as varchar) as call_id,
        cast(call_start_utc as timestamptz) as call_started_at,
        cast(call_start_utc as date) as call_date,
        cast(extension as varchar) as extension,
        nullif(trim(cast(account_code as varchar)), '') as account_code,
        cast(dialled_number as varchar) as dialled_number,
        cast(direction as varchar) as direction,
        cast(is_internal as boolean) as is_internal,
        cast(is_answered as boolean) as is_answered,
        cast(billable_seconds as bigint) as billable_seconds,
        cast(category as varchar) as category,
        cast(cost as decimal(12, 4)) as cost,
        cast(currency as varchar) as currency,
        cast(segments as integer) as segments,
        cast(source_file as varchar) as source_file,
        cast(source_line as bigint) as source_line
    from source
)

select * from renamed
