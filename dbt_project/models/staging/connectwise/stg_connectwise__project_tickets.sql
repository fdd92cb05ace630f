-- Tickets of projects (/project/tickets), with their project and phase.
with

source as (
    select * from {{ source('raw_connectwise', 'project_tickets') }}
),

renamed as (
    select
        {{ ticket_columns('ProjectTicket') }}
        cast(project__id as bigint) as project_id,
        cast(phase__id as bigint) as phase_id,
        cast(phase__name as varchar) as phase_name,
        _loaded_at as loaded_at
    from source
)

select * from renamed
