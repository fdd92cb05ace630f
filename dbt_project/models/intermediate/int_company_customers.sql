-- Each PSA company and the one ERP customer mapped to it, the customer a company's
-- agreements, tickets and orders go to. A company two customers are mapped to is neither's
-- (the mapping reports it).

select company_id, min(customer_number) as customer_number
from {{ ref('mapped_customers') }}
where company_id is not null
group by company_id
having count(*) = 1
