const STUDY = JSON.parse(document.getElementById('study').textContent);
const $=id=>document.getElementById(id), now=()=>new Date().toISOString(), N=STUDY.items.length;
let pid=null, started=null, cur=0, answers={};
const key=()=>'motionlib:'+STUDY.study_id+':'+pid;
function el(tag,attrs,kids){const e=document.createElement(tag);Object.assign(e,attrs||{});(kids||[]).forEach(k=>e.append(k));return e;}
function video(src){const v=el('video',{muted:true});['autoplay','loop','muted','playsinline'].forEach(a=>v.setAttribute(a,''));
  v.src=src;return v;}
function progress(){const done=Object.keys(answers).length, total=N*Object.keys(STUDY.questions).length;
  $('progress').textContent='Item '+(cur+1)+' of '+N+' \u00b7 '+done+' of '+total+' questions answered';}
function render(){
  const item=STUDY.items[cur], order=displayOrder(STUDY.methods,STUDY.seed,pid,item.item_id);
  progress();
  $('prompt').textContent=item.prompt; $('videos').replaceChildren(el('div',{className:'col ref'},[el('h3',{textContent:'Reference'}),video(item.reference)]));
  order.forEach((m,i)=>{const c=el('div',{className:'col'},[el('h3',{textContent:'Method '+String.fromCharCode(65+i)})]);
    item.outputs[m].forEach(s=>c.append(video(s))); if(item.outputs[m].length<2)c.append(el('div',{className:'single',textContent:'(one sample only)'}));
    $('videos').append(c);});
  $('questions').replaceChildren(...Object.entries(STUDY.questions).map(([q,text])=>{
    const f=el('fieldset',{},[el('legend',{textContent:text})]), a=answers[item.item_id+'|'+q];
    order.forEach((m,i)=>{const r=el('input',{type:'radio',name:q,id:'q-'+q+'-'+i,value:String(i),checked:!!a&&a.method===m});
      r.onchange=()=>{answers[item.item_id+'|'+q]={item:item.item_id,question:q,method:m,label:'Method '+String.fromCharCode(65+i),order:order,answered_utc:now()};save();progress();};
      f.append(el('label',{htmlFor:r.id},[r,' Method '+String.fromCharCode(65+i)]));});return f;}));
  $('prev').disabled=cur===0; $('next').disabled=cur===N-1;
}
function save(){try{localStorage.setItem(key(),JSON.stringify({started,answers}));}catch(e){}}
function start(){const v=$('participant').value.trim(); if(!v){alert('Please enter or generate a participant ID.');return;}
  pid=v; $('participant').disabled=true; let saved=null; try{saved=JSON.parse(localStorage.getItem(key()));}catch(e){}
  started=(saved&&saved.started)||now(); answers=(saved&&saved.answers)||{};
  $('intro').querySelectorAll('button').forEach(b=>b.disabled=true); $('study-ui').classList.remove('hidden'); render();}
function download(){const total=N*Object.keys(STUDY.questions).length, list=Object.values(answers);
  const data={format:STUDY.format,study_id:STUDY.study_id,participant:pid,seed:STUDY.seed,user_agent:navigator.userAgent,
    started_utc:started,submitted_utc:now(),simulated:false,answers:list};
  const a=el('a',{href:URL.createObjectURL(new Blob([JSON.stringify(data,null,1)],{type:'application/json'})),
    download:'response_'+STUDY.study_id+'_'+pid.replace(/[^A-Za-z0-9_.-]/g,'_')+'.json'});
  document.body.append(a); a.click(); a.remove();
  $('status').textContent=list.length<total?'Saved, but only '+list.length+' of '+total+' questions are answered.':'Saved: thank you!';}
$('generate').onclick=()=>{const b=new Uint32Array(1);crypto.getRandomValues(b);$('participant').value='P-'+b[0].toString(36).toUpperCase();};
$('start').onclick=start; $('download').onclick=download;
$('prev').onclick=()=>{cur=Math.max(0,cur-1);render();}; $('next').onclick=()=>{cur=Math.min(N-1,cur+1);render();};
