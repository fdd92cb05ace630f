with

source as (
    select * from {{ source('raw_connectwise', 'tickets') }}
),

renamed as (
    select
        cast(id as bigint) as ticket_id,
        cast(summary as varchar) as summary,
        cast(record_type as varchar) as record_type,
        cast(company__id as bigint) as company_id,
        cast(company__identifier as varchar) as company_identifier,
        cast(board__name as varchar) as board,
        cast(status__name as varchar) as status,
        coalesce(cast(closed_flag as boolean), false) as is_closed,
        cast(actual_hours as decimal(10, 2)) as actual_hours,
        cast(site__id as bigint) as site_id,
        cast(agreement__id as bigint) as agreement_id,
        cast(type__name as varchar) as ticket_type,
        cast(owner__identifier as varchar) as owner_identifier,
        cast(contact_name as varchar) as contact_name,
        cast(po_number as varchar) as po_number,
        cast(external_x_ref as varchar) as external_x_ref,
        cast(closed_date as timestamptz) as closed_at,
        cast(info__date_entered as timestamptz) as entered_at,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
