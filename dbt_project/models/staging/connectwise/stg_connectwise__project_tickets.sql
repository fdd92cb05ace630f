-- Tickets of projects (/project/tickets), with their project and phase.
with

source as (
    select * from {{ source('raw_connectwise', 'project_tickets') }}
),

renamed as (
    select
        cast(id as bigint) as ticket_id,
        cast(summary as varchar) as summary,
        coalesce(cast(record_type as varchar), 'ProjectTicket') as record_type,
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
        cast(project__id as bigint) as project_id,
        cast(phase__id as bigint) as phase_id,
        cast(phase__name as varchar) as phase_name,
        _loaded_at as loaded_at
    from source
)

select * from renamed
