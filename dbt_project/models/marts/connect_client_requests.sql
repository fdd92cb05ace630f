-- Operate accounts waiting for "Send to Connect" (seed 000): requested and not yet linked
-- to a Connect client, with what the client gets: the account's name, its type
-- (Residential or Virtual; any custom type becomes Residential) and its location's site.

with

accounts as (
    select * from {{ ref('stg_operate__accounts') }}
),

locations as (
    select * from {{ ref('stg_operate__locations') }}
),

final as (
    select
        accounts.account_id,
        accounts.account_name,
        accounts.account_type,
        case
            when accounts.account_type in ('Residential', 'Virtual') then accounts.account_type
            else 'Residential'
        end as client_type,
        accounts.location_id,
        locations.location_name,
        locations.connect_site_id
    from accounts
    left join locations on locations.location_id = accounts.location_id
    where accounts.is_send_to_connect_requested and accounts.connect_client_id is null
)

select * from final
