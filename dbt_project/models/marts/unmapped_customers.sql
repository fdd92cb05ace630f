-- The analyst's list of work: every ERP parent customer in the customer sync (not
-- excluded) without a PSA company, why no rule linked it, and the likeliest partners to
-- confirm with `crosswalk links set` (customer_suggestions: score and evidence).
-- unmapped_code groups the reasons: the finding's failure code when a link contradicts the
-- data, else no-match, account-number-shared or unlinked-by-operator.

with

mapped as (
    select * from {{ ref('mapped_customers') }}
),

matched as (
    select * from {{ ref('int_customers_matched') }}
),

suggestions as (
    select * from {{ ref('customer_suggestions') }}
),

suggestion_counts as (
    select
        customer_number,
        count(*) as suggestion_count,
        string_agg(
            'company ' || company_id || ' "' || company_name || '" (' || score || ')',
            '; ' order by suggestion_rank
        ) filter (where suggestion_rank <= 3) as top_suggestions
    from suggestions
    group by 1
),

best as (
    select * from suggestions
    where suggestion_rank = 1
),

final as (
    select
        mapped.customer_number,
        mapped.customer_name,
        mapped.is_active,
        mapped.customer_type_code,
        mapped.branch_number,
        mapped.territory_code,
        mapped.match_rule is not distinct from 'unlinked' as is_unlinked_by_operator,
        coalesce(mapped.finding_code, matched.unmatched_code) as unmapped_code,
        coalesce(mapped.finding, mapped.match_reason) as unmapped_reason,
        mapped.finding_code,
        mapped.fix,
        best.company_id as suggested_company_id,
        best.company_identifier as suggested_company_identifier,
        best.company_name as suggested_company_name,
        best.score as suggestion_score,
        best.evidence as suggestion_evidence,
        coalesce(suggestion_counts.suggestion_count, 0) as suggestion_count,
        suggestion_counts.top_suggestions
    from mapped
    inner join matched on mapped.customer_number = matched.customer_number
    left join best on mapped.customer_number = best.customer_number
    left join suggestion_counts on mapped.customer_number = suggestion_counts.customer_number
    where not mapped.is_mapped and not mapped.is_excluded
)

select * from final
