<?php
// Put these lines in wp-config.php above "That's all, stop editing!".
// The gate forwards X-Forwarded-Proto as the TLS nginx set it; WordPress only knows HTTPS
// from $_SERVER['HTTPS'], and without it builds http:// links and loops on redirects.
if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && $_SERVER['HTTP_X_FORWARDED_PROTO'] === 'https') {
    $_SERVER['HTTPS'] = 'on';
}
