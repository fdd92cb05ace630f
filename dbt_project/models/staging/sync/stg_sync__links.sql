with

source as (
    select * from {{ source('sync', 'links') }}
),

renamed as (
    select
        cast(kind as varchar) as link_kind,
        cast(source_system as varchar) as source_system,
        cast(source_key as varchar) as source_key,
        cast(target_system as varchar) as target_system,
        cast(target_key as varchar) as target_key,
        cast(made_by as varchar) as made_by,
        cast(note as varchar) as note,
        cast(created_at as timestamptz) as linked_at,
        cast(run_id as varchar) as run_id,
        cast(broken_at as timestamptz) as broken_at,
        cast(broken_reason as varchar) as broken_reason
    from source
)

select * from renamed
