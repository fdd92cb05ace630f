-- Each PSA site and the one ERP location mapped to it (with the location's parent
-- customer), where a company's tickets and orders go when the site is known. A site two
-- locations are mapped to is neither's.

select site_id, min(customer_number) as location_number,
    min(parent_customer_number) as parent_customer_number
from {{ ref('mapped_locations') }}
where is_mapped and not is_excluded
group by site_id
having count(*) = 1
