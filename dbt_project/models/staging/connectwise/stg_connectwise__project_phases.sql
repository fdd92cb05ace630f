-- Project phases (/project/projects/{id}/phases): billed on their own or with the project.
with

source as (
    select * from {{ source('raw_connectwise', 'project_phases') }}
),

renamed as (
    select
        cast(id as bigint) as phase_id,
        cast(project_id as bigint) as project_id,
        cast(description as varchar) as phase_name,
        cast(status__name as varchar) as phase_status,
        coalesce(cast(bill_separately_flag as boolean), false) as is_billed_separately,
        cast(billing_method as varchar) as billing_method,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
