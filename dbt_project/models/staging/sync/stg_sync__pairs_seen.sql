with

source as (
    select * from {{ source('sync', 'pairs_seen') }}
),

renamed as (
    select
        cast(kind as varchar) as link_kind,
        cast(source_key as varchar) as source_key,
        cast(target_key as varchar) as target_key,
        cast(first_seen_at as timestamptz) as first_seen_at
    from source
)

select * from renamed
