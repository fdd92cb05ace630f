with

source as (
    select * from {{ source('raw_connectwise', 'time_entries') }}
),

renamed as (
    select
        cast(id as bigint) as time_entry_id,
        cast(charge_to_type as varchar) as charge_to_type,
        cast(charge_to_id as bigint) as charge_to_id,
        cast(company__id as bigint) as company_id,
        cast(member__id as bigint) as member_id,
        cast(member__identifier as varchar) as member_identifier,
        cast(work_type__name as varchar) as work_type,
        cast(time_start as timestamptz) as started_at,
        cast(time_end as timestamptz) as ended_at,
        cast(actual_hours as decimal(18, 2)) as actual_hours,
        cast(hours_billed as decimal(18, 2)) as hours_billed,
        cast(billable_option as varchar) as billable_option,
        cast(notes as varchar) as notes,
        cast(status as varchar) as time_status,
        cast(agreement__id as bigint) as agreement_id,
        cast(invoice__id as bigint) as invoice_id,
        cast(work_role__name as varchar) as work_role,
        cast(date_entered as timestamptz) as entered_at,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
