with

source as (
    select * from {{ source('raw_connectwise', 'companies') }}
),

renamed as (
    select
        cast(id as bigint) as company_id,
        cast(identifier as varchar) as identifier,
        cast(name as varchar) as company_name,
        cast(status__name as varchar) as status,
        cast(account_number as varchar) as account_number,
        cast(address_line1 as varchar) as address_line1,
        cast(address_line2 as varchar) as address_line2,
        cast(city as varchar) as city,
        cast(state as varchar) as state,
        cast(zip as varchar) as zip,
        cast(phone_number as varchar) as phone_number,
        cast(fax_number as varchar) as fax_number,
        cast(website as varchar) as website,
        cast(territory__name as varchar) as territory,
        list_transform(
            from_json(coalesce(cast(types as varchar), '[]'), '[{"name": "VARCHAR"}]'),
            lambda t: t.name
        ) as company_types,
        coalesce(cast(deleted_flag as boolean), false) as is_deleted,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
