with

source as (
    select * from {{ source('sync', 'run_entities') }}
),

renamed as (
    select
        run_id || ':' || system || '.' || entity as run_entity_id,
        cast(run_id as varchar) as run_id,
        cast(system as varchar) as system,
        cast(entity as varchar) as entity,
        cast(rows_read as bigint) as rows_read,
        cast(rows_landed as bigint) as rows_landed,
        cast(rows_inserted as bigint) as rows_inserted,
        cast(rows_updated as bigint) as rows_updated,
        cast(rows_quarantined as bigint) as rows_quarantined
    from source
)

select * from renamed
