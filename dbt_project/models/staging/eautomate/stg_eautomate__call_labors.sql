-- One row per labor line of an ERP service call, in the call's order. A line crosswalk
-- made from a PSA time entry carries "[TE #<time entry id>]" in its Remarks.

with

calls as (
    select
        call_number,
        from_json(coalesce(labors, '[]'), '[{"TechnicianNumber": "VARCHAR",
            "ActivityCode": "VARCHAR", "DispatchDate": "VARCHAR", "ArrivalDate": "VARCHAR",
            "DepartureDate": "VARCHAR", "LaborHours": "VARCHAR", "TravelHours": "VARCHAR",
            "LaborRate": "VARCHAR", "Remarks": "VARCHAR"}]') as lines
    from {{ ref('stg_eautomate__calls') }}
),

unnested as (
    select call_number, unnest(lines) as line, generate_subscripts(lines, 1) as line_no
    from calls
),

final as (
    select
        call_number,
        line_no,
        line.TechnicianNumber as technician_number,
        line.ActivityCode as activity_code,
        try_cast(line.DispatchDate as timestamptz) as dispatched_at,
        try_cast(line.ArrivalDate as timestamptz) as arrived_at,
        try_cast(line.DepartureDate as timestamptz) as departed_at,
        cast(line.LaborHours as decimal(18, 4)) as labor_hours,
        cast(line.TravelHours as decimal(18, 4)) as travel_hours,
        cast(line.LaborRate as decimal(18, 4)) as labor_rate,
        line.Remarks as remarks,
        try_cast(regexp_extract(line.Remarks, '\[TE #(\d+)\]', 1) as bigint) as time_entry_id
    from unnested
)

select * from final
