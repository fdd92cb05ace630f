-- Every call read from a call log, what happens to it, and why.
-- Rules in order, as Operate's device import applies them (seeds 000 and 001):
--   already on a batch sheet (by line hash)             -> charged
--   no device import map of that name in Operate        -> waiting
--   unanswered, internal                                -> skipped
--   zero value and the map ignores zero values          -> skipped
--   the map's default product is not in Operate        -> waiting
--   no account code, or one with characters Operate
--   refuses, or no account at the call's location has
--   that code for the map's application                 -> waiting
--   otherwise                                           -> to_charge
-- The code matched is the map's own account code when it names one, else the call's,
-- compared case-insensitively. A call with no cost in its log is rated: its billable
-- minutes (started minutes) at the product's unit price when it went out, else nothing.
-- Money stays DECIMAL throughout; the amount is rounded as Operate rounds it
-- (charge_amount: half up to the cent), so a sheet's total is the sum crosswalk sent.

with

calls as (
    select * from {{ ref('stg_calllogs__calls') }}
),

maps as (
    select * from {{ ref('stg_operate__device_import_maps') }}
),

codes as (
    select * from {{ ref('stg_operate__account_codes') }}
),

accounts as (
    select * from {{ ref('stg_operate__accounts') }}
),

products as (
    select * from {{ ref('stg_operate__products') }}
),

charged as (
    select * from {{ ref('stg_sync__charged_lines') }}
),

maps_by_device as (
    select *
    from maps
    qualify row_number() over (partition by device_name order by device_import_map_id) = 1
),

location_codes as (
    select
        accounts.location_id,
        codes.application_id,
        upper(codes.account_code) as code_key,
        min(codes.account_id) as account_id
    from codes
    inner join accounts on accounts.account_id = codes.account_id
    group by all
),

with_map as (
    select
        calls.*,
        maps_by_device.device_import_map_id,
        maps_by_device.application_id,
        coalesce(maps_by_device.is_ignoring_zero_values, false) as is_ignoring_zero_values,
        coalesce(maps_by_device.map_account_code, calls.account_code) as match_code,
        products.product_id,
        products.product_group_id,
        products.unit_price as product_unit_price
    from calls
    left join maps_by_device on maps_by_device.device_name = calls.source_device
    left join products on products.product_id = maps_by_device.default_product_id
),

priced as (
    select
        *,
        cast(
            case
                when cost is not null then 1
                else (billable_seconds + 59) // 60
            end as decimal(14, 3)
        ) as quantity,
        cast(
            case
                when cost is not null then cost
                when direction = 'outbound' and not is_internal then product_unit_price
                else 0
            end as decimal(12, 4)
        ) as unit_price
    from with_map
),

matched as (
    select
        priced.*,
        {{ charge_amount('priced.quantity', 'priced.unit_price') }} as amount,
        location_codes.account_id,
        charged.batch_sheet_id,
        charged.run_id as charged_run_id,
        charged.line_hash is not null as is_charged
    from priced
    left join location_codes
        on location_codes.location_id = priced.location_id
        and location_codes.application_id = priced.application_id
        and location_codes.code_key = upper(priced.match_code)
    left join charged on charged.line_hash = priced.line_hash
),

decided as (
    select
        *,
        case
            when is_charged then 'charged'
            when device_import_map_id is null then 'import-map-missing'
            when not is_answered then 'unanswered'
            when is_internal then 'internal'
            when amount = 0 and is_ignoring_zero_values then 'zero-value'
            when product_id is null then 'import-map-product-missing'
            when match_code is null then 'account-code-blank'
            when not regexp_full_match(match_code, '[A-Za-z0-9]+') then 'account-code-unsupported'
            when account_id is null then 'account-code-unknown'
            else 'matched'
        end as reason_code
    from matched
),

final as (
    select
        line_hash,
        location_id,
        source_device,
        device_import_map_id,
        application_id,
        call_id,
        call_started_at,
        call_date,
        extension,
        match_code as account_code,
        dialled_number,
        direction,
        billable_seconds,
        category,
        account_id,
        product_id,
        product_group_id,
        quantity,
        unit_price,
        amount,
        batch_sheet_id,
        charged_run_id,
        reason_code,
        case
            when reason_code = 'charged' then 'charged'
            when reason_code in ('unanswered', 'internal', 'zero-value') then 'skipped'
            when reason_code = 'matched' then 'to_charge'
            else 'waiting'
        end as decision,
        case reason_code
            when 'charged' then 'on batch sheet ' || batch_sheet_id
            when 'import-map-missing' then 'Operate has no device import map named ' || source_device
            when 'unanswered' then 'unanswered call'
            when 'internal' then 'internal call'
            when 'zero-value' then 'zero value (the device import map ignores zero values)'
            when 'import-map-product-missing' then 'the device import map''s default product is not in Operate'
            when 'account-code-blank' then 'no account code'
            when 'account-code-unsupported'
                then 'account code ' || match_code
                    || ' has characters Operate refuses (letters and digits only)'
            when 'account-code-unknown'
                then 'no account at this location has account code ' || match_code
                    || ' for this application'
            else 'matched to account ' || account_id
        end as reason,
        source_file,
        source_line
    from decided
)

select * from final
