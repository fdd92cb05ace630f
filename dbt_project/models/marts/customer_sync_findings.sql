-- Everything about the customer sync a person may need to act on, one row each: links
-- that contradict the data, fields both systems changed (conflicts), records left out
-- (exclusions), and values cut to fit the PSA (truncations).

with

customers as (
    select * from {{ ref('mapped_customers') }}
),

locations as (
    select * from {{ ref('mapped_locations') }}
),

wrong_links as (
    select 'wrong-link' as finding_kind, 'customer' as link_kind, customer_number,
        customer_name, cast(null as varchar) as field, finding_code as code, finding as detail,
        fix
    from customers
    where finding_code is not null
    union all
    select 'wrong-link', 'location', customer_number, customer_name, null, finding_code,
        finding, fix
    from locations
    where finding_code is not null
),

conflicts as (
    select
        'conflict' as finding_kind,
        conflicts.link_kind,
        conflicts.source_key as customer_number,
        customers.customer_name,
        conflicts.field,
        case when conflicts.is_open then 'field-conflict' else 'conflict-resolved' end as code,
        conflicts.field || ' changed in e-automate (' || coalesce(conflicts.erp_value, '(empty)')
            || ') and in ConnectWise (' || coalesce(conflicts.psa_value, '(empty)')
            || ') since they last agreed' as detail,
        case when conflicts.is_open
            then 'crosswalk conflicts resolve ' || conflicts.conflict_id
                || ' --take erp|psa (or --value TEXT)'
            else 'resolved (' || conflicts.resolution || '); the next run writes it'
        end as fix
    from {{ ref('stg_sync__conflicts') }} as conflicts
    left join {{ ref('stg_eautomate__customers') }} as customers
        on conflicts.source_key = customers.customer_number
    where conflicts.is_open or conflicts.is_resolved_unsettled
),

exclusions as (
    select
        'excluded' as finding_kind,
        'customer' as link_kind,
        customer_number,
        customer_name,
        null as field,
        'excluded' as code,
        exclusion_reason as detail,
        'crosswalk exclude remove (operator exclusions); else the ERP or the '
            || 'configuration, as the reason says' as fix
    from customers
    where is_excluded
),

truncations as (
    select
        'truncated' as finding_kind,
        fields.link_kind,
        fields.customer_number,
        customers.customer_name,
        fields.field,
        'field-truncated' as code,
        fields.field || ' is ' || length(fields.erp_value) || ' characters; ConnectWise holds '
            || fields.psa_limit || ': ' || fields.erp_sent as detail,
        'Shorten it in e-automate if the cut is wrong' as fix
    from {{ ref('customer_field_sync') }} as fields
    left join {{ ref('stg_eautomate__customers') }} as customers
        on fields.customer_number = customers.customer_number
    where fields.is_truncated
)

select * from wrong_links
union all
select * from conflicts
union all
select * from exclusions
union all
select * from truncations
