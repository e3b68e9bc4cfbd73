<?php
// A server page that hands its state to the page's scripts in an inline
// script: its top-level declarations are globals base.js shares.
$total = compute_total($booking);
echo "<script type=\"text/javascript\">
<!--
var sel_start_date = 0;
var total = $total;
function pick(n) {
  var picked = n;
  return picked;
}
// -->
</script>
<script type=\"text/javascript\" src=\"./base.js\"></script>";
