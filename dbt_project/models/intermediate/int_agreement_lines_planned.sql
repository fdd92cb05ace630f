-- The ERP contract lines an agreement's invoice period asks for: the base amount on the
-- "**CWBase <agreement type>" item, then one line per billable addition in effect at the
-- start of the period (effective by then, not cancelled before it), in the PSA's order.
--
-- Money: e-automate stores Amount = Quantity x Rate. A line goes as billed quantity x
-- unit price (times the months of the billing cycle) where that product is the PSA's
-- billed amount exactly, with no rounding; otherwise (less-included quantities, a price that is not quantity x
-- unit price) as quantity 1 at the billed amount, the PSA's quantity in its description.
-- billed_as records which. An addition the PSA bills nothing for (billed quantity 0)
-- keeps its line at quantity 0.

with

mapped as (
    select * from {{ ref('int_agreements_mapped') }}
),

additions as (
    select * from {{ ref('stg_connectwise__additions') }}
),

items as (
    select * from {{ ref('stg_eautomate__items') }}
),

templates as (
    select contract_number as template_number
    from {{ ref('stg_eautomate__contracts') }}
    where is_template
),

-- The base amount's item goes with the template the contract is made from: "**CWBase
-- <type>" beside "**CW <type>", the default template's own beside the default.
base_items as (
    select
        mapped.agreement_id,
        '**CWBase ' || substr(coalesce(own.template_number, fallback.template_number,
                                       '**CW ' || mapped.agreement_type), 6) as item_number
    from mapped
    left join templates as own on own.template_number = '**CW ' || mapped.agreement_type
    left join templates as fallback
        on fallback.template_number = '{{ agreement_sync_setting('default_template', '**CW Default') }}'
),

base as (
    select
        mapped.agreement_id,
        0 as line_order,
        'base' as line_kind,
        cast(null as bigint) as addition_id,
        base_items.item_number,
        agreement_name as description,
        cast(1 as decimal(18, 4)) as quantity,
        cast(agreement_amount as decimal(18, 4)) as rate,
        cast(agreement_amount as decimal(18, 2)) as psa_amount,
        'base amount' as billed_as
    from mapped
    inner join base_items using (agreement_id)
    where agreement_amount <> 0
),

in_effect as (
    select
        mapped.agreement_id,
        mapped.cycle_months,
        additions.*  exclude (agreement_id),
        coalesce(additions.billed_quantity, additions.quantity) as billed,
        coalesce(
            additions.extended_price,
            round(coalesce(additions.billed_quantity, additions.quantity) * additions.unit_price, 2)
        ) as extended
    from mapped
    inner join additions on mapped.agreement_id = additions.agreement_id
    where additions.bill_customer = 'Billable'
        and coalesce(additions.effective_date, mapped.invoice_date) <= mapped.invoice_date
        and (additions.cancelled_date is null or additions.cancelled_date > mapped.invoice_date)
),

-- What the PSA bills a period: nothing for a billed quantity of 0 (the line stays, at 0).
priced as (
    select
        *,
        cast(case when billed = 0 then 0 else extended end * cycle_months as decimal(18, 2))
            as psa_amount,
        -- exactly, with no rounding
        billed * unit_price = case when billed = 0 then 0 else extended end as is_exact
    from in_effect
),

addition_lines as (
    select
        agreement_id,
        row_number() over (partition by agreement_id order by addition_id) as line_order,
        'addition' as line_kind,
        addition_id,
        product_identifier as item_number,
        case
            when is_exact then coalesce(invoice_description, description)
            else left(
                coalesce(invoice_description, description, product_identifier)
                || ' (' || {{ plain_number('billed') }} || ' x '
                || {{ plain_number('unit_price') }} || ')',
                255
            )
        end as description,
        case when is_exact then cast(billed * cycle_months as decimal(18, 4))
            else cast(1 as decimal(18, 4)) end as quantity,
        case when is_exact then cast(unit_price as decimal(18, 4))
            else cast(psa_amount as decimal(18, 4)) end as rate,
        psa_amount,
        case when is_exact then 'billed quantity x unit price'
            else 'quantity 1 at the extended price (quantity x unit price is not the billed amount)'
        end as billed_as
    from priced
),

lines as (
    select * from base
    union all
    select * from addition_lines
),

final as (
    select
        lines.*,
        items.item_number is not null as is_item_known
    from lines
    left join items on lines.item_number = items.item_number
)

select * from final
