{% macro hysteresis_band(period, previous_band) -%}
    {#- The band of a period: the previous band while the score stays within the period's
        hysteresis_points of that band's edges (joined as previous_edges), else the band the
        score falls in. Without a previous band the edges are null and the raw band wins. -#}
    case
        when {{ period }}.score >= previous_edges.min_score - {{ period }}.hysteresis_points
            and {{ period }}.score <= previous_edges.max_score + {{ period }}.hysteresis_points
            then {{ previous_band }}
        else {{ period }}.raw_band
    end
{%- endmacro %}
