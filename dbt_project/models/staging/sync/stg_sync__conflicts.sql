with

source as (
    select * from {{ source('sync', 'conflicts') }}
),

renamed as (
    select
        cast(conflict_id as bigint) as conflict_id,
        cast(kind as varchar) as link_kind,
        cast(source_key as varchar) as source_key,
        cast(target_key as varchar) as target_key,
        cast(field as varchar) as field,
        cast(base_value as varchar) as base_value,
        cast(erp_value as varchar) as erp_value,
        cast(psa_value as varchar) as psa_value,
        cast(raised_at as timestamptz) as raised_at,
        cast(resolution as varchar) as resolution,
        cast(resolved_value as varchar) as resolved_value,
        cast(resolved_by as varchar) as resolved_by,
        cast(resolved_at as timestamptz) as resolved_at,
        cast(settled_at as timestamptz) as settled_at,
        settled_at is null and resolved_at is null as is_open,
        settled_at is null and resolved_at is not null as is_resolved_unsettled
    from source
)

select * from renamed
