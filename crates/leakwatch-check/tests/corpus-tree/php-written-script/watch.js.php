<?php
  global $streamMode;
  global $monitor;
?>
//
// Constants and state the page's watch.js shares, written by PHP.
//
var streamMode = "<?php echo $streamMode ?>";
var showMode = "<?php echo ($monitor->hasControl()) ? 'control' : 'events' ?>";
<?php if ($monitor->canEdit()) { ?>
var canEdit = true;
<?php } ?>
function applyMode(mode) {
  var previous = showMode;
  return previous !== mode;
}
