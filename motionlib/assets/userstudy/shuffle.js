// displayOrder(methods, seed, participant, item): the same order as motionlib.userstudy.display_order
function fnv1a(s){let h=0x811c9dc5;for(const b of new TextEncoder().encode(s)){h=Math.imul(h^b,0x01000193)>>>0;}return h>>>0;}
function mulberry32(a){return function(){a=(a+0x6D2B79F5)>>>0;let t=Math.imul(a^(a>>>15),a|1);
  t^=t+Math.imul(t^(t>>>7),t|61);return ((t^(t>>>14))>>>0)/4294967296;};}
function displayOrder(methods,seed,pid,item){const r=mulberry32(fnv1a(seed+'|'+pid+'|'+item));const a=methods.slice();
  for(let i=a.length-1;i>0;i--){const j=Math.floor(r()*(i+1));[a[i],a[j]]=[a[j],a[i]];}return a;}
