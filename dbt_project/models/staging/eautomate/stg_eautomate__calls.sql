with

source as (
    select * from {{ source('raw_eautomate', 'calls') }}
),

renamed as (
    select
        cast(call_number as varchar) as call_number,
        cast(customer_number as varchar) as customer_number,
        cast(bill_to_number as varchar) as bill_to_number,
        cast(contract_number as varchar) as contract_number,
        cast(call_type as varchar) as call_type,
        cast(status_code as varchar) as status_code,
        cast(hold_code as varchar) as hold_code,
        cast(bill_code as varchar) as bill_code,
        cast(caller as varchar) as caller,
        cast(description as varchar) as description,
        -- The PSA ticket a call was made for: "[CW #<ticket id>]" opens its description.
        try_cast(regexp_extract(description, '^\s*\[CW #(\d+)\]', 1) as bigint) as ticket_id,
        cast(po_number as varchar) as po_number,
        cast(technician_number as varchar) as technician_number,
        cast(equipment_number as varchar) as equipment_number,
        cast(call_date as timestamptz) as call_date,
        cast(close_date as timestamptz) as close_date,
        cast(labors as varchar) as labors,
        cast(materials_used as varchar) as materials_used,
        cast(create_date as timestamptz) as created_at,
        cast(last_update as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
